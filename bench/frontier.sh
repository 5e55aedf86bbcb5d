#!/usr/bin/env bash
# The device attack's frontier on validation pairs: the shipped setting with
# one knob moved at a time (the decoys' pull, the budget eps, the number of
# iterations), each point scored by apf-eval on all 300 positive pairs of
# LFW fold 7 against thresholds from fold 6 (never the reporting fold 8).
# Writes OUT/frontier.csv (a row per point: per-recognizer broken shares
# adv-orig, after JPEG q75 and adv-adv, SSIM, device ms) and OUT/frontier.png
# (gnuplot): what each knob buys and costs against the protection issue's
# targets (docs/protection.md, "Not reached").
#
# Usage: bench/frontier.sh [LFW_DIR] [BUILD_DIR] [OUT_DIR] [MAX_PAIRS]
#        (defaults ../shared/data/lfw build out/frontier 300)
# About 25 minutes on 2 cores at 300 pairs. A point whose results.json (for
# the same number of pairs) is already in OUT_DIR is not run again, so an
# interrupted sweep resumes.
set -euo pipefail
lfw=${1:-../shared/data/lfw}
build=${2:-build}
out=${3:-out/frontier}
pairs=${4:-300}
[ -f "$lfw/pairs.txt" ] || { echo "frontier.sh: no LFW at $lfw (pairs.txt)" >&2; exit 2; }
[ -x "$build/examples/apf-eval" ] || { echo "frontier.sh: no $build/examples/apf-eval" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "frontier.sh: gnuplot is needed for the figure" >&2; exit 2; }
mkdir -p "$out"

# knob value; the shipped setting (decoys 0.4, eps 8, 11 iterations) is run
# once, as decoys 0.4, and stands in every sweep
points=(
  "decoys 0" "decoys 0.2" "decoys 0.4" "decoys 0.7" "decoys 1"
  "eps 6" "eps 7" "eps 10"
  "iterations 8" "iterations 14"
)
for p in "${points[@]}"; do
  set -- $p
  knob=$1 value=$2
  dir="$out/$knob-$value"
  # done already, with the same number of pairs: keep it
  if [ -f "$dir/results.json" ] &&
     python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["positive_pairs"] != int(sys.argv[2]))' \
       "$dir/results.json" "$pairs"; then
    continue
  fi
  args=(--random-target 0.4 --eps 8 --iterations 11)
  case $knob in
    decoys) args[1]=$value ;;
    eps) args[3]=$value ;;
    iterations) args[5]=$value ;;
  esac
  echo "frontier: $knob $value" >&2
  "$build/examples/apf-eval" --lfw "$lfw" --fold 7 --calib-folds 6 --max-pairs "$pairs" \
    "${args[@]}" --out "$dir" > "$dir.log" 2>&1
done

python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
names = ['mobilefacenet', 'faceres', 'mobileface', 'faceapi-recognition']
cols = ['knob', 'value', 'eps', 'iterations', 'random_target']
for n in names:
    cols += [f'{n}_broken', f'{n}_broken_jpeg', f'{n}_broken_adv_adv']
cols += ['broken_min', 'broken_mean', 'jpeg_ratio_min', 'adv_adv_min', 'adv_adv_mean',
         'ssim_mean', 'ssim_min', 'device_ms']
lines = [','.join(cols)]
order = {'decoys': 0, 'eps': 1, 'iterations': 2}
for d in os.listdir(out):
    if not os.path.isfile(f'{out}/{d}/results.json'):
        continue
    knob, value = d.split('-', 1)
    r = json.load(open(f'{out}/{d}/results.json'))
    rows = {x['row']: x for x in r['rows']}
    g, j = rows['APF_g'], next(x for k, x in rows.items() if k.startswith('APF_g +'))
    b = [g['per_recognizer'][n]['broken'] for n in names]
    bj = [j['per_recognizer'][n]['broken'] for n in names]
    aa = [g['per_recognizer'][n]['broken_adv_adv'] for n in names]
    ratio = [y / x if x > 0 else 0 for x, y in zip(b, bj)]
    tgt = float(value) if knob == 'decoys' else 0.4
    vals = [knob, value, r['eps'], r['iterations'], tgt]
    for n, x, y, z in zip(names, b, bj, aa):
        vals += [x, y, z]
    vals += [min(b), sum(b) / 4, min(ratio), min(aa), sum(aa) / 4,
             g['ssim_mean'], g['ssim_min'], g['device_ms_per_face']]
    cells = [f'{v:.4f}' if isinstance(v, float) else str(v) for v in vals]
    lines.append(','.join(cells))
    # the shipped point belongs to every sweep
    if knob == 'decoys' and value == '0.4':
        for k2, v2 in (('eps', '8'), ('iterations', '11')):
            lines.append(','.join([k2, v2] + cells[2:]))
header, body = lines[0], lines[1:]
body.sort(key=lambda l: (order[l.split(',')[0]], float(l.split(',')[1])))
open(f'{out}/frontier.csv', 'w').write('\n'.join([header] + body) + '\n')
print(open(f'{out}/frontier.csv').read(), end='')
PY

csv="$out/frontier.csv"
col() { head -1 "$csv" | tr ',' '\n' | grep -n "^$1\$" | cut -d: -f1; }
bmin=$(col broken_min) bmean=$(col broken_mean) jr=$(col jpeg_ratio_min) aamin=$(col adv_adv_min)
ssim=$(col ssim_mean)
# one panel: the rows of one knob's sweep, the same five curves and targets in each
panel() {
  echo "set xlabel '$2'"
  echo "plot '< grep ^$1 $csv' using 2:$bmin with linespoints title 'adv-orig, worst recognizer', \\"
  echo "     '' using 2:$bmean with linespoints title 'adv-orig, mean of four', \\"
  echo "     '' using 2:$jr with linespoints title 'after JPEG q75 / adv-orig, worst', \\"
  echo "     '' using 2:$aamin with linespoints title 'adv-adv, worst recognizer', \\"
  echo "     '' using 2:$ssim with linespoints title 'SSIM mean', \\"
  echo "     0.95 with lines dt 2 lw 1.5 lc rgb 'black' title 'target 95%', 0.90 with lines dt 3 lw 1.5 lc rgb 'black' title 'target 90%'"
}
gnuplot <<GP
set datafile separator ','
set terminal pngcairo size 1350,480 font ',10'
set output '$out/frontier.png'
set multiplot layout 1,3 title "LFW fold 7, 300 positive pairs, thresholds from fold 6: one knob moved from the shipped device setting (decoys 0.4, eps 8, 11 iterations)" font ",10"
set grid
set yrange [0:1]
set ylabel 'broken share / SSIM'
set key bottom left font ',8'
$(panel decoys 'decoy pull (random target weight)')
$(panel eps 'eps (0-255 units)')
$(panel iterations 'iterations (11: at the 1.5x device-time line)')
unset multiplot
GP
echo "frontier: $csv, $out/frontier.png"
