# ---- The Pythonic layer of the `apf` module (appended by SWIG) ----------
# Images are numpy uint8 arrays of shape (H, W, 3) (RGB); batches of
# aligned faces are (N, S, S, 3) or a single (S, S, 3); gradients g and
# noise values are int8, embeddings and input gradients float32.
import numpy as _np

#: Status codes (the C library's apf_status values).
OK, E_INVALID, E_NOMEM, E_IO, E_FORMAT, E_UNSUPPORTED, E_CHECKSUM, E_LIMIT, \
    E_BACKEND, E_STATE, E_EXISTS, E_NUMERIC = range(12)

#: The wire blob kinds.
WIRE_GRADIENT, WIRE_NOISE = 0, 1

#: apf protect's face-check threshold (APF_FACE_CHECK_MIN_SCORE).
FACE_CHECK_MIN_SCORE = 0.2

#: Attack names accepted by Probe (case-insensitive).
ATTACKS = ("fgsm", "i-fgsm", "mi-fgsm", "di2-fgsm", "m-di2-fgsm")


class Error(Exception):
    """A libapf call failed.

    ``status`` is the C status code (one of the E_* constants),
    ``status_name`` its short description, and the message is the
    library's own explanation (apf_last_error()).
    """

    def __init__(self, status, message):
        self.status = status
        self.status_name = _c_status_string(status)
        super().__init__("%s: %s" % (self.status_name, message))


def _check(status):
    if status != OK:
        raise Error(status, _c_last_error())


def _checked(result):
    """Split a (value, status) pair from a handle-returning call."""
    # SWIG folds a NULL (None) result into the output: a bare int is a failure.
    if isinstance(result, (list, tuple)):
        value, status = result
    else:
        value, status = None, result
    _check(status)
    if value is None:
        raise Error(E_STATE, "the library returned no handle")
    return value


def _take_buffer(result):
    buf = _checked(result)
    try:
        out = _np.empty(_c_buffer_size(buf), dtype=_np.uint8)
        _check(_c_buffer_copy(buf, out))
        return out.tobytes()
    finally:
        _c_buffer_free(buf)


def _faces_u8(faces, name="faces"):
    """Validate an aligned-face batch; returns (flat array, n, size)."""
    a = _np.ascontiguousarray(faces)
    if a.dtype != _np.uint8:
        raise TypeError("%s must be uint8, got %s" % (name, a.dtype))
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[3] != 3 or a.shape[1] != a.shape[2]:
        raise ValueError("%s must be (S, S, 3) or (N, S, S, 3), got %s" % (name, faces.shape))
    return a.reshape(-1), a.shape[0], a.shape[1]


def _photo(image):
    """Validate a (H, W, 3) uint8 image; returns it C-contiguous."""
    a = _np.ascontiguousarray(image)
    if a.dtype != _np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError("an image is a (H, W, 3) uint8 array")
    return a


def _bytes_u8(data):
    return _np.frombuffer(bytes(data), dtype=_np.uint8)


def version():
    """The loaded C library's version string, e.g. "0.1.0"."""
    return _c_version()


class _Handle:
    """Base of every handle: close() frees it; usable as a context manager."""

    _free = None

    def __init__(self, ptr):
        self._ptr = ptr

    def _live(self):
        if self._ptr is None:
            raise Error(E_STATE, "%s is closed" % type(self).__name__)
        return self._ptr

    def close(self):
        """Release the C handle now (also done on garbage collection)."""
        if self._ptr is not None:
            type(self)._free(self._ptr)
            self._ptr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def load_image(path):
    """Load a JPEG or PNG (EXIF orientation applied) as a (H, W, 3) uint8 array."""
    img = _checked(_c_image_load(str(path)))
    try:
        out = _np.empty((_c_image_height(img), _c_image_width(img), 3), dtype=_np.uint8)
        _check(_c_image_copy(img, out.reshape(-1)))
        return out
    finally:
        _c_image_free(img)


def save_image(image, path, jpeg_quality=95):
    """Save a (H, W, 3) uint8 array as PNG or JPEG (by extension).

    Never overwrites: raises Error with status E_EXISTS if path exists.
    """
    a = _photo(image)
    _check(_c_image_save(a.reshape(-1), a.shape[1], a.shape[0], str(path), int(jpeg_quality)))


def apply_perturbation(faces, values, scale):
    """clip(faces + scale * values, 0, 255) as uint8 (values int8, same shape).

    With a probe's g and scale=eps this is APF_g; with a decoded cloud noise
    and scale=1 it is the protected face APF_s.
    """
    f = _np.ascontiguousarray(faces)
    v = _np.ascontiguousarray(values)
    # no silent casts: int16 noise of 300 would wrap to 44, floats would truncate
    if f.dtype != _np.uint8:
        raise TypeError("faces must be uint8, got %s" % f.dtype)
    if v.dtype != _np.int8:
        raise TypeError("values must be int8, got %s" % v.dtype)
    if f.shape != v.shape:
        raise ValueError("faces %s and values %s differ in shape" % (f.shape, v.shape))
    out = _np.empty_like(f)
    _check(_c_apply(f.reshape(-1), v.reshape(-1), float(scale), out.reshape(-1)))
    return out


def ssim(a, b):
    """SSIM (Wang et al. 2004, 11x11 Gaussian) of two (H, W, 3) uint8 images."""
    a = _np.ascontiguousarray(a)
    b = _np.ascontiguousarray(b)
    # float images in 0..1 would be scored as nearly black: refuse them
    if a.dtype != _np.uint8 or b.dtype != _np.uint8:
        raise TypeError("ssim needs uint8 images, got %s and %s" % (a.dtype, b.dtype))
    if a.shape != b.shape or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError("ssim needs two (H, W, 3) images of one shape")
    status, value = _c_ssim(a.reshape(-1), b.reshape(-1), a.shape[1], a.shape[0])
    _check(status)
    return value


class Blob:
    """A decoded wire blob: ``kind`` (WIRE_GRADIENT or WIRE_NOISE),
    ``algorithm``, ``eps``, ``model_hash`` and ``values`` (int8, (N, H, W, 3))."""

    def __init__(self, kind, algorithm, eps, model_hash, values):
        self.kind, self.algorithm, self.eps = kind, algorithm, eps
        self.model_hash, self.values = model_hash, values

    def __repr__(self):
        return "Blob(kind=%d, algorithm=%d, eps=%g, shape=%s)" % (
            self.kind, self.algorithm, self.eps, self.values.shape)


def limit_noise_to_reach(noise, reach):
    """noise (int8) clamped value by value to +-reach (uint8, same size), as
    the device does before adding the cloud's noise when its probe's
    reach_budget is on (apf_limit_noise_to_reach); returns a new array."""
    v = _np.asarray(noise)
    r = _np.ascontiguousarray(reach)
    if v.dtype != _np.int8:
        raise TypeError("noise must be int8, got %s" % v.dtype)
    if r.dtype != _np.uint8:
        raise TypeError("reach must be uint8, got %s" % r.dtype)
    if v.size != r.size:
        raise ValueError("noise has %d values, reach %d" % (v.size, r.size))
    out = _np.array(v, dtype=_np.int8).reshape(-1)
    _check(_c_limit_noise_to_reach(out, r.reshape(-1)))
    return out.reshape(v.shape)


def decode_blob(data):
    """Decode and strictly validate a gradient or noise blob (bytes) into a Blob."""
    w = _checked(_c_wire_decode(_bytes_u8(data)))
    try:
        values = _np.empty((_c_wire_n(w), _c_wire_height(w), _c_wire_width(w), 3), dtype=_np.int8)
        _check(_c_wire_values(w, values.reshape(-1)))
        return Blob(_c_wire_kind(w), _c_wire_algorithm(w), _c_wire_eps(w),
                    _c_wire_model_hash(w), values)
    finally:
        _c_wire_free(w)


def encode_blob(values, kind=WIRE_GRADIENT, eps=8.0, algorithm=0, model_hash=0):
    """Encode int8 values of shape (N, H, W, 3) as a wire blob (bytes)."""
    v = _np.ascontiguousarray(values, dtype=_np.int8)
    if v.ndim == 3:
        v = v[None]
    if v.ndim != 4 or v.shape[3] != 3:
        raise ValueError("values must be (N, H, W, 3)")
    return _take_buffer(_c_wire_encode(int(kind), int(algorithm), v.shape[0], v.shape[1],
                                       v.shape[2], float(eps), int(model_hash), v.reshape(-1)))


class Model(_Handle):
    """A face-recognition model loaded from a `.apfm` file.

    ``embed(faces)`` takes aligned faces as uint8 or float32 0..255 RGB,
    (N, S, S, 3), and returns L2-normalised float32 embeddings (N, dim).
    """

    _free = staticmethod(lambda p: _c_model_free(p))

    def __init__(self, path, threads=0):
        super().__init__(_checked(_c_model_load(str(path))))
        if threads:
            _check(_c_model_set_threads(self._ptr, int(threads)))

    name = property(lambda self: _c_model_name(self._live()), doc="The model's name.")
    dim = property(lambda self: _c_model_dim(self._live()), doc="Embedding length.")
    input_size = property(lambda self: _c_model_input_size(self._live()), doc="Network input side.")
    hash = property(lambda self: _c_model_hash(self._live()), doc="64-bit hash of the weights.")

    @staticmethod
    def _float_faces(faces):
        a = _np.ascontiguousarray(faces, dtype=_np.float32)
        if a.ndim == 3:
            a = a[None]
        if a.ndim != 4 or a.shape[3] != 3 or a.shape[1] != a.shape[2]:
            raise ValueError("faces must be (S, S, 3) or (N, S, S, 3)")
        return a

    def embed(self, faces):
        """L2-normalised embeddings, float32 (N, dim)."""
        a = self._float_faces(faces)
        out = _np.empty((a.shape[0], self.dim), dtype=_np.float32)
        _check(_c_model_embed(self._live(), a.reshape(-1), a.shape[0], a.shape[1], out.reshape(-1)))
        return out

    def gradient(self, faces, d_embedding):
        """Back-propagate dL/d(embedding) (float32 (N, dim)) to the faces:
        returns dL/d(faces) as float32 (N, S, S, 3), per 0..255 pixel unit."""
        a = self._float_faces(faces)
        d = _np.ascontiguousarray(d_embedding, dtype=_np.float32).reshape(-1)
        out = _np.empty(a.shape, dtype=_np.float32)
        _check(_c_model_gradient(self._live(), a.reshape(-1), a.shape[0], a.shape[1], d,
                                 out.reshape(-1)))
        return out


class Probe(_Handle):
    """The device side: computes the ternary adversarial gradient g.

    Probe(model_path, **options): options are the C library's
    apf_probe_options fields by name (attack="di2-fgsm", eps, step,
    iterations, momentum, diversity_prob, enrol_offset, offset_fraction,
    offset_range, seed, threads, random_target, schedule="all"|"rotate",
    texture_ssim, g_flip, g_drop, smooth_sigma, reach_budget). Any option not given takes the library's default (the
    defaults live in C only; ``options`` shows what the probe runs with).
    Deterministic for a seed; use one Probe per thread.
    """

    _free = staticmethod(lambda p: _c_probe_free(p))
    _NAMES = ("attack", "eps", "step", "iterations", "momentum", "diversity_prob", "enrol_offset",
              "offset_fraction", "offset_range", "seed", "threads", "random_target", "schedule",
              "texture_ssim", "g_flip", "g_drop", "smooth_sigma", "reach_budget", "diversity_jpeg",
              "ssim_floor", "diversity_blur", "diversity_blur_sigma")

    @classmethod
    def _spec(cls, options):
        parts = []
        for k, v in options.items():
            if k not in cls._NAMES:
                raise TypeError("unknown probe option %r (known: %s)" % (k, ", ".join(cls._NAMES)))
            if v is None:
                continue
            if isinstance(v, bool):
                v = int(v)
            v = str(v)
            if not v or any(c in v for c in " ,="):
                raise ValueError("probe option %s=%r" % (k, v))
            parts.append("%s=%s" % (k, v))
        return " ".join(parts)

    def __init__(self, model_path, **options):
        super().__init__(_checked(_c_probe_create_with(str(model_path), self._spec(options))))
        self.eps = self.option("eps")

    def set_options(self, **options):
        """Change some options of this probe (its models stay loaded); the
        others keep what it runs with. Refused options change nothing."""
        _check(_c_probe_set_options(self._live(), self._spec(options)))
        self.eps = self.option("eps")

    def option(self, name):
        """A field of the options the probe runs with (library defaults
        included); attack and schedule as their enum numbers."""
        return _checked(_c_probe_option(self._live(), str(name)))

    @property
    def options(self):
        """Every option the probe runs with, as a dict."""
        return {k: self.option(k) for k in self._NAMES}

    def _inputs(self, faces, enrolled):
        f, n, size = _faces_u8(faces)
        if enrolled is None:
            e = _np.empty(0, dtype=_np.uint8)
        else:
            e, n2, size2 = _faces_u8(enrolled, "enrolled")
            if (n2, size2) != (n, size):
                raise ValueError("enrolled faces must match faces in shape")
        return f, e, n, size

    @staticmethod
    def _placement(to_image, n):
        """to_image as the flat float64 array the shim takes (empty: none)."""
        if to_image is None:
            return _np.empty(0, dtype=_np.float64)
        m = to_image
        if not isinstance(m, _np.ndarray) or m.dtype != _np.float64:
            raise TypeError("to_image must be a float64 numpy array")
        if m.size != 6 * n:
            raise ValueError("to_image needs 6 values per face (%d faces), has %d" % (n, m.size))
        return _np.ascontiguousarray(m).reshape(-1)

    def gradient(self, faces, enrolled=None, to_image=None):
        """g in {-1, 0, 1}, int8 (N, S, S, 3). Without ``enrolled`` each face is
        pushed from its own clean embedding (x_e = x). ``to_image``: each
        face's alignment matrix (float64 (N, 2, 3), (N, 6) or one (6,) for
        one face, as Face.align_matrix() gives), to attack the faces as
        they will sit in their photos (apf_probe_gradient_placed)."""
        f, e, n, size = self._inputs(faces, enrolled)
        g = _np.empty((n, size, size, 3), dtype=_np.int8)
        if to_image is None:
            _check(_c_probe_gradient(self._live(), f, e, n, size, g.reshape(-1)))
            return g
        m = self._placement(to_image, n)
        _check(_c_probe_gradient_placed(self._live(), f, e, m, n, size, g.reshape(-1)))
        return g

    def gradient_reach(self, faces, enrolled=None, to_image=None):
        """(g, reach): g as gradient() gives it, and reach, uint8 of the same
        shape: how far the attack itself moved each value, 0 to eps
        (apf_probe_gradient_reach). The reach stays on the device; bound the
        cloud's noise by it with limit_noise_to_reach()."""
        f, e, n, size = self._inputs(faces, enrolled)
        g = _np.empty((n, size, size, 3), dtype=_np.int8)
        reach = _np.empty((n, size, size, 3), dtype=_np.uint8)
        _check(_c_probe_gradient_reach(self._live(), f, e, self._placement(to_image, n), n, size,
                                       g.reshape(-1), reach.reshape(-1)))
        return g, reach

    def gradient_blob(self, faces, enrolled=None):
        """gradient() encoded as the wire blob (bytes) sent to the cloud."""
        f, e, n, size = self._inputs(faces, enrolled)
        return _take_buffer(_c_probe_gradient_blob(self._live(), f, e, n, size))

    def gradient_blob_reach(self, faces, enrolled=None, to_image=None):
        """(blob, reach): gradient_blob()'s wire bytes (the same bytes: the
        reach is not in them) and the reach as gradient_reach() gives it."""
        f, e, n, size = self._inputs(faces, enrolled)
        reach = _np.empty((n, size, size, 3), dtype=_np.uint8)
        blob = _take_buffer(_c_probe_gradient_blob_reach(self._live(), f, e, self._placement(to_image, n),
                                                         n, size, reach.reshape(-1)))
        return blob, reach

    def add_model(self, model_path, weight=1.0, samples=1, period=1):
        """Attack another recognizer too (a device ensemble, as `apf protect`
        does with the four bundled ones); weight in (0, 100]; samples:
        input-diversity draws it sees per iteration (set_model_samples);
        period: it runs every period-th iteration (set_model_period). Both
        are checked before the model is added."""
        if not 1 <= int(samples) <= 16:  # APF_PROBE_MAX_SAMPLES
            raise ValueError("samples must be in 1..16, got %r" % (samples,))
        if not 1 <= int(period) <= 8:  # APF_PROBE_MAX_PERIOD
            raise ValueError("period must be in 1..8, got %r" % (period,))
        _check(_c_probe_add_model(self._live(), str(model_path), float(weight)))
        if samples != 1:
            self.set_model_samples(self.model_count - 1, samples)
        if period != 1:
            self.set_model_period(self.model_count - 1, period)

    def set_model_samples(self, index, samples):
        """Model ``index`` (0: the probe model) sees ``samples`` (1..16)
        transformed copies of each face per iteration and follows their
        summed gradient (apf_probe_set_model_samples)."""
        _check(_c_probe_set_model_samples(self._live(), int(index), int(samples)))

    def model_samples(self, index):
        """Samples per iteration of model ``index``."""
        v = _c_probe_model_samples(self._live(), int(index))
        if v < 1:
            raise Error(E_INVALID, "probe: no model %d" % index)
        return v

    def set_model_period(self, index, period):
        """Model ``index`` runs on the first iteration and then every
        ``period``-th (1..8), its last gradient reused in between
        (apf_probe_set_model_period); ensembles only."""
        _check(_c_probe_set_model_period(self._live(), int(index), int(period)))

    def model_period(self, index):
        """Refresh period of model ``index``."""
        v = _c_probe_model_period(self._live(), int(index))
        if v < 1:
            raise Error(E_INVALID, "probe: no model %d" % index)
        return v

    def set_decoys(self, faces):
        """Faces of other people (uint8, n x size x size x 3, aligned like
        the protected faces) whose embeddings the random target pulls each
        protected face toward, one decoy per face (apf_probe_set_decoys);
        None or an empty array: random directions again."""
        if faces is None or _np.asarray(faces).size == 0:
            _check(_c_probe_set_decoys(self._live(), _np.zeros(0, dtype=_np.uint8), 0, 0))
            return
        f, n, size = _faces_u8(faces, "decoys")
        _check(_c_probe_set_decoys(self._live(), f, n, size))

    @property
    def decoy_count(self):
        """Decoy faces the probe holds (set_decoys)."""
        return _c_probe_decoy_count(self._live())

    @property
    def model_count(self):
        """Recognizers the probe attacks (1 + those added)."""
        return _c_probe_model_count(self._live())

    def limit_noise(self, faces, noise):
        """The noise (int8, same shape as faces) clamped to this probe's
        per-pixel budget for these faces; returns a new array."""
        f, n, size = _faces_u8(faces)
        v = _np.asarray(noise)
        if v.dtype != _np.int8 or v.size != f.size:
            raise TypeError("noise must be an int8 array shaped like faces")
        out = _np.array(v, dtype=_np.int8).reshape(-1)
        _check(_c_probe_limit_noise(self._live(), f, n, size, out))
        return out.reshape(v.shape)

    def protect_local(self, faces, enrolled=None):
        """The end-only protected faces APF_g = clip(x + eps * g); with the
        probe's reach_budget on, eps * g bounded by the attack's reach."""
        if not self.option("reach_budget"):
            g = self.gradient(faces, enrolled).reshape(_np.shape(faces))
            return apply_perturbation(faces, g, self.eps)
        g, reach = self.gradient_reach(faces, enrolled)
        noise = _np.clip(_np.rint(g.astype(_np.float32) * self.eps), -127, 127).astype(_np.int8)
        noise = limit_noise_to_reach(noise, reach)
        return apply_perturbation(faces, noise.reshape(_np.shape(faces)), 1.0)


class Transfer(_Handle):
    """The cloud's transfer U-Net T, loaded from a `.apfm` file."""

    _free = staticmethod(lambda p: _c_transfer_free(p))

    def __init__(self, path, threads=0):
        super().__init__(_checked(_c_transfer_load(str(path))))
        if threads:
            _check(_c_transfer_set_threads(self._ptr, int(threads)))


class Enhancer(_Handle):
    """The cloud's universal perturbation and enhancement module E(u)."""

    _free = staticmethod(lambda p: _c_enhancer_free(p))

    def __init__(self, path):
        super().__init__(_checked(_c_enhancer_load(str(path))))


class CloudFilter:
    """The privacy server's job: gradient blob in, noise blob out.

    CloudFilter(transfer=None, enhancer=None) takes Transfer / Enhancer
    objects or paths; None leaves that term out (T = identity, no E(u)).
    The filter never sees the photo, only g.
    """

    def __init__(self, transfer=None, enhancer=None, threads=0):
        self._own = []
        if isinstance(transfer, (str, bytes)) or hasattr(transfer, "__fspath__"):
            transfer = Transfer(transfer, threads)
            self._own.append(transfer)
        if isinstance(enhancer, (str, bytes)) or hasattr(enhancer, "__fspath__"):
            enhancer = Enhancer(enhancer)
            self._own.append(enhancer)
        self.transfer, self.enhancer = transfer, enhancer

    def _ptrs(self):
        t = self.transfer._live() if self.transfer is not None else None
        e = self.enhancer._live() if self.enhancer is not None else None
        return t, e

    def filter(self, g_blob):
        """Decode and validate a gradient blob; return the noise blob (bytes)."""
        t, e = self._ptrs()
        return _take_buffer(_c_cloud_filter(t, e, _bytes_u8(g_blob)))

    def noise(self, g, eps=8.0):
        """s = clip_eps(T(eps * g) + E(u)) as float32 for int8 g (N, 112, 112, 3)."""
        t, e = self._ptrs()
        gv = _np.ascontiguousarray(g, dtype=_np.int8)
        if gv.ndim == 3:
            gv = gv[None]
        s = _np.empty(gv.shape, dtype=_np.float32)
        _check(_c_cloud_noise(t, e, gv.reshape(-1), gv.shape[0], float(eps), s.reshape(-1)))
        return s

    def close(self):
        """Close the Transfer / Enhancer this filter opened from paths."""
        for h in self._own:
            h.close()
        self._own = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Evaluator(_Handle):
    """Recognizers for measuring protection: similarity, calibration, ASR.

    Evaluator([model paths], threads=0).
    """

    _free = staticmethod(lambda p: _c_evaluator_free(p))

    def __init__(self, model_paths, threads=0):
        paths = [str(p) for p in model_paths]
        if not paths or any("\n" in p for p in paths):
            raise ValueError("need one or more model paths without newlines")
        super().__init__(_checked(_c_evaluator_create("\n".join(paths), int(threads))))

    @property
    def model_names(self):
        """Names of the loaded recognizers, in order."""
        ev = self._live()
        return [_c_evaluator_model_name(ev, i) for i in range(_c_evaluator_model_count(ev))]

    def similarity(self, model, a, b):
        """Cosine similarities (float32 (N,)) of pairs of aligned faces."""
        fa, n, size = _faces_u8(a, "a")
        fb, _, _ = _faces_u8(b, "b")
        out = _np.empty(n, dtype=_np.float32)
        _check(_c_evaluator_similarity(self._live(), int(model), fa, fb, n, size, out))
        return out

    def calibrate(self, a, b, same):
        """Fit each recognizer's thresholds on clean labelled pairs."""
        fa, n, size = _faces_u8(a, "a")
        fb, _, _ = _faces_u8(b, "b")
        s = _np.ascontiguousarray(same, dtype=_np.uint8).reshape(-1)
        _check(_c_evaluator_calibrate(self._live(), fa, fb, s, n, size))

    def threshold(self, model):
        """(best-accuracy threshold, clean accuracy) after calibrate()."""
        status, thr, acc = _c_evaluator_threshold(self._live(), int(model))
        _check(status)
        return thr, acc

    def asr(self, model, original, protected, other):
        """Attack success rate (Eq. 11) over positive pairs:
        returns (asr, matched_before, matched_after)."""
        fo, n, size = _faces_u8(original, "original")
        fp, _, _ = _faces_u8(protected, "protected")
        fx, _, _ = _faces_u8(other, "other")
        status, asr, before, after = _c_evaluator_asr(self._live(), int(model), fo, fp, fx, n, size)
        _check(status)
        return asr, before, after


# ---- faces in whole photos (for photo-management software) ---------------

class Face:
    """A face in a photo: ``score``, ``box`` (x0, y0, x1, y1) and
    ``landmarks`` (5 x 2, ArcFace order: image-left eye, image-right eye,
    nose, mouth corners; BlazeFace gives the mouth centre in both of the last
    two, with ``mouth_centre_only`` set)."""

    def __init__(self, row):
        self._row = _np.asarray(row, dtype=_np.float32).copy()
        self.score = float(row[0])
        self.box = tuple(float(v) for v in row[1:5])
        self.landmarks = _np.asarray(row[5:15], dtype=_np.float32).reshape(5, 2)
        self.mouth_centre_only = bool(row[15])

    @classmethod
    def from_landmarks(cls, landmarks):
        """A face given by five (x, y) landmarks (ArcFace order)."""
        lm = _np.asarray(landmarks, dtype=_np.float32).reshape(5, 2)
        row = _np.zeros(16, _np.float32)
        row[0] = 1.0
        row[1:5] = (lm[:, 0].min(), lm[:, 1].min(), lm[:, 0].max(), lm[:, 1].max())
        row[5:15] = lm.reshape(-1)
        return cls(row)

    def align_matrix(self):
        """(2, 3) float64 matrix mapping aligned 112x112 coordinates to the photo."""
        m = _np.empty(6, dtype=_np.float64)
        _check(_c_face_align(self._row, m))
        return m.reshape(2, 3)

    def __repr__(self):
        return "Face(score=%.3f, box=(%.1f, %.1f, %.1f, %.1f))" % ((self.score,) + self.box)


class Detector(_Handle):
    """The face detector (models/blazeface.apfm). Detector(path, min_score=0.5)."""

    _free = staticmethod(lambda p: _c_detector_free(p))

    def __init__(self, path, min_score=0.5):
        super().__init__(_checked(_c_detector_create(str(path))))
        _check(_c_detector_set_threshold(self._ptr, float(min_score)))

    def set_face_check(self, path, min_score=FACE_CHECK_MIN_SCORE):
        """Leave out detections that are not a person's face (an animal's):
        path is models/facemesh.apfm (None removes the check); detections
        it scores below min_score (0..1; 0 keeps all) are dropped."""
        _check(_c_detector_set_face_check(self._live(), "" if path is None else str(path), float(min_score)))

    def face_score(self, image, face):
        """The face check's score, 0..1, of a face in a (H, W, 3) uint8 photo."""
        a = _photo(image)
        status, score = _c_detector_face_score(self._live(), a.reshape(-1), a.shape[1], a.shape[0], face._row)
        _check(status)
        return score

    @property
    def rejected_count(self):
        """Detections the face check dropped in the last detect()."""
        return _c_detector_rejected_count(self._live())

    def detect(self, image, max_faces=64):
        """Faces in a (H, W, 3) uint8 photo, best first (at most max_faces)."""
        a = _photo(image)
        out = _np.zeros((int(max_faces), 16), dtype=_np.float32)
        status, count = _c_detect(self._live(), a.reshape(-1), a.shape[1], a.shape[0], out.reshape(-1))
        _check(status)
        return [Face(out[i]) for i in range(min(count, int(max_faces)))]


def crop_face(image, matrix):
    """The aligned (112, 112, 3) face cut out of a photo with align_matrix()."""
    a = _photo(image)
    out = _np.empty((112, 112, 3), dtype=_np.uint8)
    m = _np.ascontiguousarray(matrix, dtype=_np.float64).reshape(-1)
    _check(_c_face_crop(a.reshape(-1), a.shape[1], a.shape[0], m, out.reshape(-1)))
    return out


def add_face_noise(protected, original, matrix, noise, eps=8.0):
    """Map an aligned face's noise (int8 (112, 112, 3)) onto the photo
    `protected` in place, keeping every pixel within eps of `original`."""
    if not (isinstance(protected, _np.ndarray) and protected.dtype == _np.uint8 and
            protected.flags.c_contiguous and protected.ndim == 3 and protected.shape[2] == 3):
        raise ValueError("protected must be a C-contiguous (H, W, 3) uint8 array (updated in place)")
    o = _photo(original)
    if o.shape != protected.shape:
        raise ValueError("protected and original differ in shape")
    m = _np.ascontiguousarray(matrix, dtype=_np.float64).reshape(-1)
    v = _np.ascontiguousarray(noise, dtype=_np.int8).reshape(-1)
    _check(_c_face_add_noise(protected.reshape(-1), o.reshape(-1), o.shape[1], o.shape[0], m, v, float(eps)))


class PhotoJob(_Handle):
    """One photo between the device's two steps (the library's apf_photo_job):
    PhotoJob(photo, probe, detector=None, faces=None) finds the faces (or uses
    `faces`), aligns them and computes g; ``gradient_blob`` is the only thing
    to send; ``apply(noise_blob)`` checks the cloud's reply and returns the
    protected photo. The job keeps its own copy of the photo's pixels and
    borrows `probe`, which must stay open while the job is used."""

    _free = staticmethod(lambda p: _c_job_free(p))

    def __init__(self, image, probe, detector=None, faces=None):
        photo = _photo(image)
        if faces is None:
            if detector is None:
                raise ValueError("a PhotoJob needs a detector unless faces are given")
            rows = _np.zeros(0, dtype=_np.float32)
        else:
            rows = _np.concatenate([f._row for f in faces]) if faces else _np.zeros(0, _np.float32)
            if not faces:
                raise ValueError("faces is an empty list: give faces, or None to detect")
        d = detector._live() if (detector is not None and faces is None) else None
        super().__init__(_checked(_c_job_create(probe._live(), d, photo.reshape(-1), photo.shape[1],
                                                photo.shape[0], _np.ascontiguousarray(rows, _np.float32))))
        self._shape = photo.shape
        self._probe = probe  # kept alive with the job

    @property
    def faces_found(self):
        """Faces detected (or given); more than ``len(faces)`` past 64."""
        return _c_job_faces_found(self._live())

    @property
    def faces(self):
        """The faces protected, in photo coordinates (list of Face)."""
        n = _c_job_face_count(self._live())
        if n <= 0:
            return []
        out = _np.zeros((n, 16), dtype=_np.float32)
        _check(_c_job_faces(self._live(), out.reshape(-1)))
        return [Face(out[i]) for i in range(n)]

    @property
    def gradient_blob(self):
        """The bytes to send to the cloud filter (b"" when there is no face)."""
        if _c_job_face_count(self._live()) == 0:
            return b""
        return _take_buffer(_c_job_gradient_blob(self._live()))

    def apply(self, noise_blob, keep_metadata=0):
        """The protected photo ((H, W, 3) uint8) from the cloud's noise blob;
        a reply that is not noise for these faces within the probe's eps
        raises apf.Error before anything is applied."""
        out = _np.empty(self._shape, dtype=_np.uint8)
        _check(_c_job_apply(self._live(), _bytes_u8(noise_blob), int(keep_metadata), out.reshape(-1)))
        return out


def protect_photo(image, probe, cloud, detector, faces=None):
    """Whole-photo APF through the library's pipeline (PhotoJob): find the
    faces (or use `faces`), align them, get g from `probe` (one blob for all
    faces), the noise from `cloud` (a CloudFilter, or any callable taking and
    returning blob bytes — e.g. an HTTP client to apf-server), check it and
    map it back. Returns (protected, faces); (None, []) without a face."""
    with PhotoJob(image, probe, detector=detector, faces=faces) as job:
        used = job.faces
        if not used:
            return None, []
        g_blob = job.gradient_blob
        s_blob = cloud.filter(g_blob) if hasattr(cloud, "filter") else cloud(g_blob)
        return job.apply(s_blob), used
