#!/usr/bin/env bash
# Draw apf-train's validation curves from its log.csv with gnuplot: ASR per
# recognizer (validation fold) after each epoch, stage 1 then stage 2.
# Usage: bench/plot_training.sh LOG.csv OUT.png
set -euo pipefail
log=$1 png=$2
cols=$(head -1 "$log" | tr ',' '\n' | grep -n '^asr_' | cut -d: -f1 | tr '\n' ' ')
plot=""
for c in $cols; do
  name=$(head -1 "$log" | cut -d, -f"$c" | sed 's/^asr_//')
  case " $plot " in *"'$name'"*) continue ;; esac   # a recognizer listed twice (the probe)
  plot="$plot${plot:+, }'$log' using 0:$c every ::1 with linespoints title '$name'"
done
gnuplot <<GP
set datafile separator ','
set terminal pngcairo size 800,420 font ',10'
set output '$png'
set title 'apf-train validation: ASR (Eq. 11) per recognizer after each epoch'
set xlabel 'epoch (rows of log.csv: stage 1, then stage 2 from its epoch 0)'
set ylabel 'ASR on the validation pairs'
set yrange [0:1]
set grid
set key outside right
plot $plot
GP
