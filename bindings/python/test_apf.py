"""Tests of the Python module `apf` (run by `meson test`, unittest).

Uses the real models (APF_MODELS_DIR), the shipped cloud weights and the
sample faces in examples/faces (APF_SOURCE_DIR).
"""
import os
import subprocess
import sys
import tempfile
import threading
import unittest

import numpy as np

import apf

SRC = os.environ.get("APF_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = os.environ.get("APF_MODELS_DIR", os.path.join(SRC, "models"))
PROBE = os.path.join(MODELS, "mobilefacenet.apfm")
FACES = os.path.join(SRC, "examples", "faces")
TRANSFER = os.path.join(SRC, "weights", "transfer.apfm")


def face(i=0):
    names = sorted(os.listdir(FACES))
    return apf.load_image(os.path.join(FACES, names[i]))


class ProbeOptionsTest(unittest.TestCase):
    """Options by their C names; what is not given is the C library's default."""

    def test_every_field_reachable_and_defaults_from_c(self):
        with apf.Probe(PROBE) as d:
            defaults = d.options
        self.assertEqual(set(defaults), set(apf.Probe._NAMES))
        want = dict(momentum=0.0, diversity_prob=0.0, enrol_offset=0, offset_fraction=0.25,
                    random_target=0.0, texture_ssim=0.9, iterations=3, smooth_sigma=0.7, reach_budget=1,
                    diversity_jpeg=60, ssim_floor=0.85, diversity_blur=0.25, diversity_blur_sigma=2.0)
        with apf.Probe(PROBE, schedule="rotate", **want) as p:
            got = p.options
        for k, v in want.items():
            self.assertAlmostEqual(got[k], v, places=6, msg=k)
        self.assertEqual(got["schedule"], 1)
        # untouched fields keep the library's values
        for k in ("eps", "step", "offset_range", "attack"):
            self.assertEqual(got[k], defaults[k], k)

    def test_bad_options(self):
        with self.assertRaises(TypeError):
            apf.Probe(PROBE, momentun=1)
        with self.assertRaises(apf.Error):
            apf.Probe(PROBE, iterations="many")
        with self.assertRaises(apf.Error):
            apf.Probe(PROBE, schedule="sometimes")
        with self.assertRaises(ValueError):
            apf.Probe(PROBE, attack="fgsm eps=64")


    def test_set_options_on_a_running_probe(self):
        x = face(0)
        with apf.Probe(PROBE, attack="i-fgsm", iterations=2) as p:
            g2 = p.gradient(x)
            p.set_options(iterations=6, eps=6)
            self.assertEqual(p.option("iterations"), 6)
            self.assertEqual(p.eps, 6)
            self.assertEqual(p.option("attack"), 1)  # untouched: kept, not the default
            self.assertFalse((p.gradient(x) == g2).all())
            with self.assertRaises(apf.Error):
                p.set_options(eps=-1)
            self.assertEqual(p.option("eps"), 6)  # refused: nothing changed
            with self.assertRaises(TypeError):
                p.set_options(momentun=1)
            p.set_options(iterations=2, eps=8)
            self.assertTrue((p.gradient(x) == g2).all())


class WaitPolicyTest(unittest.TestCase):
    """Importing apf sets GOMP_SPINCOUNT before libgomp loads, unless the user chose."""

    PROG = (
        "import os\n"
        "def gomp():\n"
        "    return any('libgomp' in l for l in open('/proc/self/maps'))\n"
        "before = gomp()\n"
        "import apf\n"
        "print(before, gomp(), os.environ.get('GOMP_SPINCOUNT'))\n"
    )

    def run_with(self, **extra):
        env = {k: v for k, v in os.environ.items()
               if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "APF_KEEP_WAIT_POLICY")}
        env.update(extra)
        out = subprocess.run([sys.executable, "-c", self.PROG], env=env, check=True,
                             capture_output=True, text=True).stdout.split()
        return out

    def test_default_is_set_before_libgomp_loads(self):
        before, after, spin = self.run_with()
        self.assertEqual((before, after), ("False", "True"))
        self.assertEqual(spin, "100000")

    def test_user_setting_is_kept(self):
        self.assertEqual(self.run_with(GOMP_SPINCOUNT="7")[2], "7")
        self.assertEqual(self.run_with(OMP_WAIT_POLICY="passive")[2], "None")
        self.assertEqual(self.run_with(APF_KEEP_WAIT_POLICY="1")[2], "None")


class ImageTest(unittest.TestCase):
    def test_load_shape_and_dtype(self):
        img = face()
        self.assertEqual(img.shape, (112, 112, 3))
        self.assertEqual(img.dtype, np.uint8)
        self.assertGreater(img.std(), 10)

    def test_save_round_trip_and_never_overwrite(self):
        img = face()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.png")
            apf.save_image(img, path)
            np.testing.assert_array_equal(apf.load_image(path), img)
            with self.assertRaises(apf.Error) as cm:
                apf.save_image(np.zeros_like(img), path)
            self.assertEqual(cm.exception.status, apf.E_EXISTS)
            np.testing.assert_array_equal(apf.load_image(path), img)

    def test_errors_carry_status_and_message(self):
        with self.assertRaises(apf.Error) as cm:
            apf.load_image("/nonexistent/photo.jpg")
        self.assertEqual(cm.exception.status, apf.E_IO)
        self.assertIn("/nonexistent/photo.jpg", str(cm.exception))
        with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
            f.write(b"\xff\xd8\xff\xe0 not really a jpeg")
            f.flush()
            with self.assertRaises(apf.Error) as cm:
                apf.load_image(f.name)
            self.assertEqual(cm.exception.status, apf.E_FORMAT)

    def test_bad_arrays_rejected_before_c(self):
        with self.assertRaises(ValueError):
            apf.save_image(np.zeros((4, 4), np.uint8), "/tmp/never-written.png")
        with self.assertRaises(ValueError):
            apf.ssim(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8))


class ProbeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.x = face(0)

    def test_fgsm_gradient_is_ternary_and_deterministic(self):
        with apf.Probe(PROBE, attack="fgsm", seed=7) as p:
            g1 = p.gradient(self.x)
            g2 = p.gradient(self.x[None])
        self.assertEqual(g1.shape, (1, 112, 112, 3))
        self.assertEqual(g1.dtype, np.int8)
        self.assertTrue(set(np.unique(g1)) <= {-1, 0, 1})
        self.assertGreater(np.abs(g1).mean(), 0.9)
        np.testing.assert_array_equal(g1, g2)

    def test_blob_matches_gradient_and_protect_local_in_eps_ball(self):
        with apf.Probe(PROBE, attack="i-fgsm", iterations=5, seed=3) as p:
            g = p.gradient(self.x)
            blob = p.gradient_blob(self.x)
            xg = p.protect_local(self.x)
        b = apf.decode_blob(blob)
        self.assertEqual(b.kind, apf.WIRE_GRADIENT)
        self.assertEqual(b.eps, 8.0)
        np.testing.assert_array_equal(b.values, g)
        diff = xg.astype(int) - self.x.astype(int)
        self.assertLessEqual(np.abs(diff).max(), 8)
        self.assertGreater(np.abs(diff).mean(), 4)

    def test_decoys_change_the_pull_and_can_be_removed(self):
        decoy = face(3)
        with apf.Probe(PROBE, attack="i-fgsm", iterations=3, seed=5, random_target=1.0) as p:
            self.assertEqual(p.decoy_count, 0)
            g_random = p.gradient(self.x)
            p.set_decoys(decoy)
            self.assertEqual(p.decoy_count, 1)
            g_decoy = p.gradient(self.x)
            with self.assertRaises(ValueError):
                p.set_decoys(np.zeros((2, 8, 9, 3), np.uint8))
            with self.assertRaises(TypeError):
                p.set_decoys(decoy.astype(np.float32))
            self.assertEqual(p.decoy_count, 1)  # refused calls keep the decoys
            p.set_decoys(None)
            self.assertEqual(p.decoy_count, 0)
            g_again = p.gradient(self.x)
        self.assertFalse(np.array_equal(g_random, g_decoy))
        np.testing.assert_array_equal(g_random, g_again)

    def test_reach_bounds_the_noise(self):
        x = face(0)
        opts = dict(attack="i-fgsm", iterations=4, step=2, seed=5)
        with apf.Probe(PROBE, **opts) as p:
            g = p.gradient(x)
            blob = p.gradient_blob(x)
            g2, reach = p.gradient_reach(x)
            blob2, reach2 = p.gradient_blob_reach(x)
            plain = p.protect_local(x)
        # the reach changes nothing on the wire
        np.testing.assert_array_equal(g2, g)
        self.assertEqual(blob2, blob)
        np.testing.assert_array_equal(reach2, reach)
        self.assertEqual(reach.dtype, np.uint8)
        self.assertEqual(reach.shape, (1, 112, 112, 3))
        self.assertLessEqual(int(reach.max()), 8)
        self.assertGreater(float((reach < 8).mean()), 0.1)  # 4 steps of 2 from a random start
        noise = (g * 8).astype(np.int8)
        bounded = apf.limit_noise_to_reach(noise, reach)
        np.testing.assert_array_equal(bounded, g * np.minimum(reach, 8).astype(np.int8))
        self.assertEqual(noise.max(), 8)  # the input is not changed
        # protect_local follows the probe's reach_budget
        with apf.Probe(PROBE, reach_budget=1, **opts) as p:
            held = p.protect_local(x)
        moved = np.abs(held.astype(int) - x.astype(int))
        self.assertTrue((moved <= reach[0]).all())
        self.assertLess(moved.sum(), 0.95 * np.abs(plain.astype(int) - x.astype(int)).sum())
        with self.assertRaises(ValueError):
            apf.limit_noise_to_reach(noise, reach[..., :2])
        with self.assertRaises(TypeError):
            apf.limit_noise_to_reach(noise, reach.astype(np.int8))
        with apf.Probe(PROBE, **opts) as p, self.assertRaises(ValueError):
            p.gradient_reach(x, to_image=np.zeros(5))

    def test_ensemble_and_noise_limit(self):
        x = face()
        with apf.Probe(PROBE, attack="fgsm") as p:
            self.assertEqual(p.model_count, 1)
            p.add_model(os.path.join(MODELS, "mobileface.apfm"), 2.0)
            self.assertEqual(p.model_count, 2)
            with self.assertRaises(apf.Error) as cm:
                p.add_model(os.path.join(MODELS, "mobileface.apfm"), 0.0)
            self.assertEqual(cm.exception.status, apf.E_INVALID)
            g = p.gradient(x)
            self.assertTrue(set(np.unique(g)) <= {-1, 0, 1})
            self.assertEqual(p.model_samples(1), 1)
            p.set_model_samples(1, 4)
            self.assertEqual(p.model_samples(1), 4)
            # FGSM has no input diversity: further samples would repeat the face, so none run
            np.testing.assert_array_equal(p.gradient(x), g)
            for index, samples in ((2, 4), (1, 0), (1, 17)):
                with self.assertRaises(apf.Error):
                    p.set_model_samples(index, samples)
            with self.assertRaises(apf.Error):
                p.model_samples(2)
            with self.assertRaises(ValueError):  # checked before the model is added
                p.add_model(os.path.join(MODELS, "mobileface.apfm"), 1.0, samples=0)
            with self.assertRaises(ValueError):
                p.add_model(os.path.join(MODELS, "mobileface.apfm"), 1.0, period=9)
            self.assertEqual(p.model_count, 2)
            self.assertEqual(p.model_period(1), 1)
            p.set_model_period(1, 2)
            self.assertEqual(p.model_period(1), 2)
            # FGSM runs one iteration, and the first runs every model
            np.testing.assert_array_equal(p.gradient(x), g)
            for index, period in ((2, 2), (1, 0), (1, 9)):
                with self.assertRaises(apf.Error):
                    p.set_model_period(index, period)
            with self.assertRaises(apf.Error):
                p.model_period(2)
            p.add_model(os.path.join(MODELS, "mobileface.apfm"), 1.0, period=3)
            self.assertEqual((p.model_count, p.model_period(2)), (3, 3))
            noise = (g * 8).astype(np.int8)
            limited = p.limit_noise(x, noise)  # uniform budget: eps 8, unchanged
            np.testing.assert_array_equal(limited, noise)
            big = np.full(x.shape, 100, np.int8)
            self.assertEqual(int(np.abs(p.limit_noise(x, big)).max()), 8)
            with self.assertRaises(TypeError):
                p.limit_noise(x, noise.astype(np.int16))

    def test_closed_handle_and_bad_options(self):
        p = apf.Probe(PROBE, attack="fgsm")
        p.close()
        with self.assertRaises(apf.Error) as cm:
            p.gradient(self.x)
        self.assertEqual(cm.exception.status, apf.E_STATE)
        with self.assertRaises(apf.Error) as cm:
            apf.Probe(PROBE, attack="no-such-attack")
        self.assertEqual(cm.exception.status, apf.E_INVALID)
        with self.assertRaises(apf.Error) as cm:
            apf.Probe(os.path.join(MODELS, "missing.apfm"))
        self.assertEqual(cm.exception.status, apf.E_IO)
        with apf.Probe(PROBE, attack="fgsm") as q:
            with self.assertRaises(TypeError):
                q.gradient(self.x.astype(np.float32))
            with self.assertRaises(ValueError):
                q.gradient(self.x[:, :100])


    def test_no_silent_casts(self):
        face = np.zeros((112, 112, 3), np.uint8)
        for bad in (np.full(face.shape, 300, np.int16), np.ones(face.shape, np.float32)):
            with self.assertRaises(TypeError):
                apf.apply_perturbation(face, bad, 1.0)
        with self.assertRaises(TypeError):
            apf.apply_perturbation(face.astype(np.float32), np.zeros(face.shape, np.int8), 1.0)
        with self.assertRaises(TypeError):
            apf.ssim(face.astype(np.float32) / 255, face.astype(np.float32) / 255)
        out = apf.apply_perturbation(face, np.full(face.shape, 8, np.int8), 1.0)
        self.assertEqual(int(out.max()), 8)
        self.assertAlmostEqual(apf.ssim(face, face), 1.0, places=6)
    def test_threads_release_the_gil_and_agree(self):
        faces = [face(i) for i in range(2)]
        with apf.Probe(PROBE, attack="fgsm", seed=1) as p:
            expect = [p.gradient(f) for f in faces]
        got = [None, None]

        def run(i):
            with apf.Probe(PROBE, attack="fgsm", seed=1, threads=1) as q:
                got[i] = q.gradient(faces[i])

        ts = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for i in range(2):
            np.testing.assert_array_equal(got[i], expect[i])


class WireTest(unittest.TestCase):
    def test_round_trip_and_hostile_blobs(self):
        rng = np.random.default_rng(0)
        v = rng.integers(-1, 2, size=(2, 112, 112, 3)).astype(np.int8)
        blob = apf.encode_blob(v, eps=8, algorithm=3, model_hash=0x1234)
        b = apf.decode_blob(blob)
        np.testing.assert_array_equal(b.values, v)
        self.assertEqual((b.algorithm, b.model_hash), (3, 0x1234))
        for bad in (b"", b"APFW", blob[:-1], blob + b"\0", b"XXXX" + blob[4:]):
            with self.assertRaises(apf.Error):
                apf.decode_blob(bad)
        flipped = bytearray(blob)
        flipped[len(blob) // 2] ^= 0x40
        with self.assertRaises(apf.Error) as cm:
            apf.decode_blob(bytes(flipped))
        self.assertIn(cm.exception.status, (apf.E_CHECKSUM, apf.E_FORMAT))
        with self.assertRaises(apf.Error) as cm:
            apf.encode_blob(np.full((1, 8, 8, 3), 2, np.int8))
        self.assertEqual(cm.exception.status, apf.E_INVALID)


class SplitTest(unittest.TestCase):
    """The end/cloud split: only the gradient blob crosses to the filter."""

    def test_split_protects_within_budget(self):
        x = np.stack([face(0), face(2)])
        with apf.Probe(PROBE, seed=5) as probe, apf.CloudFilter(TRANSFER) as cloud:
            g_blob = probe.gradient_blob(x)
            s_blob = cloud.filter(g_blob)
            s = apf.decode_blob(s_blob)
            self.assertEqual(s.kind, apf.WIRE_NOISE)
            self.assertLessEqual(np.abs(s.values.astype(int)).max(), 8)
            xs = apf.apply_perturbation(x, s.values, 1.0)
            m = apf.Model(PROBE)
            e0, e1 = m.embed(x), m.embed(xs)
            m.close()
        for i in range(2):
            self.assertGreater(apf.ssim(x[i], xs[i]), 0.7)
            self.assertLess(float(e0[i] @ e1[i]), 0.9)
        noise = apf.CloudFilter().noise(apf.decode_blob(g_blob).values, eps=8)
        self.assertEqual(noise.dtype, np.float32)
        self.assertLessEqual(np.abs(noise).max(), 8.0)

    def test_filter_rejects_hostile_payload(self):
        with apf.CloudFilter(TRANSFER) as cloud:
            with self.assertRaises(apf.Error):
                cloud.filter(b"APFW" + b"\xff" * 100)


class ModelTest(unittest.TestCase):
    def test_embed_unit_norm_and_gradient_ascends(self):
        with apf.Model(PROBE) as m:
            self.assertEqual(m.dim, 192)
            x = face(0).astype(np.float32)
            e = m.embed(x)
            self.assertAlmostEqual(float(np.linalg.norm(e)), 1.0, places=4)
            target = m.embed(face(2))
            # L = <f(x), target>: stepping along dL/dx raises L.
            grad = m.gradient(x, target)
            x2 = np.clip(x + 2.0 * np.sign(grad), 0, 255)
            self.assertGreater(float(m.embed(x2)[0] @ target[0]), float(e[0] @ target[0]))
            with self.assertRaises(apf.Error) as cm:
                m.embed(np.full((1, 112, 112, 3), np.nan, np.float32))
            self.assertEqual(cm.exception.status, apf.E_NUMERIC)


class EvaluatorTest(unittest.TestCase):
    def test_similarity_and_asr(self):
        paths = [PROBE, os.path.join(MODELS, "mobileface.apfm")]
        with apf.Evaluator(paths) as ev:
            self.assertEqual(len(ev.model_names), 2)
            a = np.stack([face(0), face(0), face(2), face(3)])
            b = np.stack([face(1), face(0), face(3), face(0)])
            sim = ev.similarity(0, a, b)
            self.assertAlmostEqual(float(sim[1]), 1.0, places=4)
            self.assertGreater(float(sim[0]), float(sim[3]))
            ev.calibrate(a, b, [1, 1, 0, 0])
            thr, acc = ev.threshold(0)
            self.assertEqual(acc, 1.0)
            with apf.Probe(PROBE, seed=2) as p:
                prot = p.protect_local(face(0))
            asr, before, after = ev.asr(0, face(0), prot, face(1))
            self.assertEqual(before, 1)
            self.assertEqual(asr, before - after)


class PhotoTest(unittest.TestCase):
    """Whole photos: detect, align, crop, protect, budget in photo pixels."""

    def test_detect_align_protect(self):
        photo = apf.load_image(os.path.join(SRC, "examples", "photos", "Abdel_Aziz_Al-Hakim_0001.jpg"))
        with apf.Detector(os.path.join(MODELS, "blazeface.apfm")) as det:
            faces = det.detect(photo)
            self.assertGreaterEqual(len(faces), 1)
            self.assertGreater(faces[0].score, 0.5)
            self.assertEqual(det.detect(np.zeros((64, 64, 3), np.uint8)), [])
            m = faces[0].align_matrix()
            self.assertEqual(m.shape, (2, 3))
            crop = apf.crop_face(photo, m)
            self.assertEqual(crop.shape, (112, 112, 3))
            # the crop is this man's face: the probe matches it to the dataset's
            # own aligned copy of the photo (0.90 measured) and not to another man
            ref = os.path.join(SRC, "..", "shared", "data", "lfw", "aligned112", "Abdel_Aziz_Al-Hakim",
                               "Abdel_Aziz_Al-Hakim_0001.jpg")
            with apf.Model(PROBE) as model:
                other = apf.load_image(os.path.join(FACES, "Ali_Naimi_0001.jpg"))
                e = model.embed(np.stack([crop, other] + ([apf.load_image(ref)] if os.path.exists(ref) else [])))
                self.assertLess(float(e[0] @ e[1]), 0.3)
                if len(e) == 3:
                    self.assertGreater(float(e[0] @ e[2]), 0.7)
            with apf.Probe(PROBE, attack="i-fgsm", iterations=3, seed=1) as probe:
                # placed in its photo: a ternary g of the same shape; the identity
                # placement (re-detected like any photo) is attacked through
                # re-alignment jitter, not as the plain attack, and the same twice;
                # a wrong matrix count is refused
                gp = probe.gradient(crop, to_image=m)
                self.assertEqual(gp.shape, (1, 112, 112, 3))
                self.assertTrue(set(np.unique(gp)) <= {-1, 0, 1})
                ident = np.array([1, 0, 0, 0, 1, 0], dtype=np.float64)
                gi = probe.gradient(crop, to_image=ident)
                self.assertTrue((gi == probe.gradient(crop, to_image=ident)).all())
                self.assertFalse((gi == probe.gradient(crop)).all())
                with self.assertRaises(ValueError):
                    probe.gradient(crop, to_image=np.zeros(12))
                with self.assertRaises(TypeError):
                    probe.gradient(crop, to_image=[1, 0, 0, 0, 1, 0])
                with self.assertRaises(apf.Error):
                    probe.gradient(crop, to_image=np.zeros(6))  # singular
            with apf.Probe(PROBE, iterations=5, seed=1) as probe, apf.CloudFilter(TRANSFER) as cloud:
                prot, used = apf.protect_photo(photo, probe, cloud, det)
            self.assertEqual(len(used), len(faces))
            d = np.abs(prot.astype(int) - photo.astype(int))
            self.assertLessEqual(d.max(), 8)
            self.assertGreater((d > 0).mean(), 0.05)
            given = apf.Face.from_landmarks(faces[0].landmarks)
            self.assertEqual(given.align_matrix().shape, (2, 3))
            with self.assertRaises(ValueError):
                apf.add_face_noise(photo[:, :, :2].copy(), photo, m, np.zeros((112, 112, 3), np.int8))
            with self.assertRaises(apf.Error):
                apf.Face.from_landmarks(np.zeros((5, 2))).align_matrix()

    def test_face_check(self):
        """A cat's face is found by the detector alone and dropped by the
        face check; a person's face is kept."""
        cat = apf.load_image(os.path.join(SRC, "tests", "data", "animals", "chelsea.jpg"))
        man = apf.load_image(os.path.join(SRC, "examples", "photos", "Aaron_Eckhart_0001.jpg"))
        with apf.Detector(os.path.join(MODELS, "blazeface.apfm")) as det:
            found = det.detect(cat)
            self.assertGreaterEqual(len(found), 1)
            with self.assertRaises(apf.Error):
                det.face_score(cat, found[0])  # no check yet
            det.set_face_check(os.path.join(MODELS, "facemesh.apfm"))
            self.assertLess(det.face_score(cat, found[0]), 0.1)
            self.assertEqual(det.detect(cat), [])
            self.assertEqual(det.rejected_count, 1)
            faces = det.detect(man)
            self.assertEqual(len(faces), 1)
            self.assertEqual(det.rejected_count, 0)
            self.assertGreater(det.face_score(man, faces[0]), 0.9)
            with self.assertRaises(apf.Error):
                det.set_face_check(os.path.join(MODELS, "blazeface.apfm"))  # not the check's model
            with self.assertRaises(apf.Error):
                det.set_face_check(os.path.join(MODELS, "facemesh.apfm"), 1.5)
            det.set_face_check(None)
            self.assertGreaterEqual(len(det.detect(cat)), 1)

    def test_photo_job_two_steps(self):
        """The library's pipeline: g out, noise in, wrong replies refused."""
        photo = apf.load_image(os.path.join(SRC, "examples", "photos", "Abdel_Aziz_Al-Hakim_0001.jpg"))
        with apf.Detector(os.path.join(MODELS, "blazeface.apfm")) as det, \
                apf.Probe(PROBE, attack="fgsm", seed=1) as probe:
            with apf.PhotoJob(photo, probe, detector=det) as job:
                self.assertGreaterEqual(len(job.faces), 1)
                self.assertEqual(job.faces_found, len(job.faces))
                g = job.gradient_blob
                w = apf.decode_blob(g)
                self.assertEqual(w.kind, apf.WIRE_GRADIENT)
                self.assertEqual(w.values.shape[0], len(job.faces))
                with self.assertRaises(apf.Error) as e:
                    job.apply(g)  # a gradient is not noise
                self.assertEqual(e.exception.status, apf.E_FORMAT)
                s = apf.encode_blob((w.values * 8).astype(np.int8), kind=apf.WIRE_NOISE, eps=8.0)
                prot = job.apply(s)
                d = np.abs(prot.astype(int) - photo.astype(int))
                self.assertLessEqual(d.max(), 8)
                self.assertGreater((d > 0).sum(), 1000)
                over = apf.encode_blob((w.values * 8).astype(np.int8), kind=apf.WIRE_NOISE, eps=16.0)
                with self.assertRaises(apf.Error):
                    job.apply(over)
                given = job.faces[:1]
            # faces given: no detector needed
            with apf.PhotoJob(photo, probe, faces=given) as job:
                self.assertEqual(len(job.faces), 1)
            with apf.PhotoJob(np.full((96, 128, 3), 128, np.uint8), probe, detector=det) as job:
                self.assertEqual(job.faces, [])
                self.assertEqual(job.gradient_blob, b"")


if __name__ == "__main__":
    unittest.main()
