#!/usr/bin/env python3
"""Arithmetic floor of the probe's attacks: convolution FLOPs per
forward + backward-to-input pass, counted from the shapes oneDNN itself
reports, and what 30 passes need against the CPU's peak.

    bench/conv_flops.py [BUILD_DIR] [MODEL.apfm]

Runs apf-bench-models on the model with ONEDNN_VERBOSE=1 (2 threads),
takes the batch-1 forward_training and backward_data convolution calls,
and prints GFLOP per pass, the achieved GFLOP/s (median kernel times, and
the best case: every shape at its fastest call of the run) and
the throughput 30 passes in 100 ms would need. Peak of this machine:
cores x 32 FP32 FLOP/cycle (two 256-bit FMA pipes) x clock.
"""
import collections
import os
import re
import statistics
import subprocess
import sys

build = sys.argv[1] if len(sys.argv) > 1 else "build"
model = sys.argv[2] if len(sys.argv) > 2 else "mobilefacenet.apfm"
env = dict(os.environ, ONEDNN_VERBOSE="1", OMP_NUM_THREADS="2")
out = subprocess.run([f"{build}/bench/apf-bench-models", "--threads", "2", "--fold", "8", model],
                     env=env, capture_output=True, text=True, check=True).stdout

calls = collections.defaultdict(list)
inference = collections.defaultdict(list)
for line in out.splitlines():
    f = line.split(",")
    if len(f) < 10 or f[1] != "exec" or f[3] != "convolution":
        continue
    prop, desc, ms = f[5], f[-2], float(f[-1])
    if not re.search(r"(^|g\d+)mb1_", desc):
        continue
    if prop in ("forward_training", "backward_data"):
        calls[(prop, desc)].append(ms)
    elif prop == "forward_inference":
        inference[desc].append(ms)
# The engine runs the image layer's backward as a 1x1 convolution in
# inference mode (engine_dnnl.c, lowered_backward): those are the inference
# calls whose shape the model's own forward never uses.
forward_shapes = {desc for prop, desc in calls if prop == "forward_training"}
for desc, times in inference.items():
    if desc not in forward_shapes:
        calls[("lowered backward_data", desc)] = times

# each shape appears (calls per pass) x passes; the rarest shapes occur once per pass
passes = min(len(v) for v in calls.values())
flops = 0.0
ms_total = 0.0
ms_best = 0.0
for (prop, desc), times in calls.items():
    d = {k: int(v) for k, v in re.findall(r"([a-z]+)(\d+)", desc)}
    g = d.get("g", 1)
    per_call = 2.0 * d["ic"] // g * d["oc"] * d["oh"] * d["ow"] * d["kh"] * d["kw"]
    per_pass = len(times) / passes
    flops += per_call * per_pass
    ms_total += statistics.median(times) * per_pass
    ms_best += min(times) * per_pass

mhz = 0.0
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("cpu MHz"):
            mhz = float(line.split(":")[1])
            break
peak = 2 * 32 * mhz / 1e3  # GFLOP/s on 2 cores at the reported clock
clock_bin = f"{build}/bench/apf-cpu-clock"
measured = 0.0
if os.path.exists(clock_bin):  # the clock the code really runs at (cpu_clock.c)
    measured = float(subprocess.run([clock_bin], capture_output=True, text=True,
                                    check=True).stdout.split()[0])
print(f"convolution work per forward+backward-to-input pass: {flops / 1e9:.3f} GFLOP")
print(f"median kernel time per pass: {ms_total:.2f} ms -> {flops / ms_total / 1e6:.0f} GFLOP/s")
print(f"best kernel time per pass (every shape at its fastest call): {ms_best:.2f} ms -> "
      f"{flops / ms_best / 1e6:.0f} GFLOP/s")
print(f"30 passes (DI2-FGSM): {30 * flops / 1e9:.1f} GFLOP; in 100 ms that needs "
      f"{30 * flops / 0.1 / 1e9:.0f} GFLOP/s")
print(f"2-core FP32 peak at the reported {mhz:.0f} MHz: {peak:.0f} GFLOP/s "
      f"(at a 3.5 GHz boost: {2 * 32 * 3.5:.0f}); 8 ms per pass needs {flops / 8e-3 / 1e9:.0f} GFLOP/s")
if measured:
    print(f"measured clock {measured:.0f} MHz (apf-cpu-clock): 2-core FP32 peak "
          f"{2 * 32 * measured / 1e3:.0f} GFLOP/s")
