"""The shipped device setting through the Python binding, for the benches
that time it or vary it (device_time_parts.py, extra_iterations.py).
Keep in step with probe_list_options_init and the default probe list in
examples/common/probe_list.c, which apf protect and apf-eval run. Import
after the build's bindings/python is on sys.path; paths are relative to
the repository root, where the benches run."""
import apf
import numpy as np

OPTIONS = dict(iterations=11, step=3, smooth_sigma=0.5, random_target=0.4, reach_budget=1,
               diversity_jpeg=75, ssim_floor=0.8, diversity_blur=0.25)


def decoy_tiles(path='weights/decoys.jpg'):
    """The decoy mosaic cut into its 112-pixel faces."""
    mosaic = apf.load_image(path)
    return np.ascontiguousarray(np.stack([mosaic[y:y + 112, x:x + 112]
                                          for y in range(0, mosaic.shape[0], 112)
                                          for x in range(0, mosaic.shape[1], 112)]))


def probe(tiles, samples=8, faceres=True, dlib=True, **change):
    """The shipped probe (MobileFaceNet, mobileface with its samples,
    faceres and the dlib ResNet every second iteration, the decoys), with
    the options in change replacing the shipped ones."""
    o = dict(OPTIONS)
    o.update(change)
    p = apf.Probe('models/mobilefacenet.apfm', **o)
    p.add_model('models/mobileface.apfm', 1.5, samples=samples)
    if faceres:
        p.add_model('models/faceres.apfm', 1, samples=1, period=2)
    if dlib:
        p.add_model('models/faceapi-recognition.apfm', 1, samples=1, period=2)
    p.set_decoys(tiles)
    return p
