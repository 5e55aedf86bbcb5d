# shellcheck shell=bash
# Sourced by the bench scripts that run apf-eval many times
# (results.sh, leave_one_out.sh, lever_ablation.sh).
#   run_once DIR LOG CMD...
# runs CMD with its output to /dev/null and its errors to LOG (LOG "-":
# to the terminal), and when it succeeds records the command in
# DIR/.finished. With APF_BENCH_RESUME=1 a run whose DIR records the very
# same command is not run again, so a stopped bench/results.sh (75 min)
# picks up where it stopped. Use it only to finish a run of one build on
# unchanged inputs: the record knows the command, not what the binary did.
run_once() {
  local dir=$1 log=$2
  shift 2
  local cmd
  cmd=$(printf '%q ' "$@")
  if [ "${APF_BENCH_RESUME:-0}" = 1 ] && [ -f "$dir/.finished" ] && [ "$(cat "$dir/.finished")" = "$cmd" ]; then
    return 0
  fi
  rm -f "$dir/.finished"
  if [ "$log" = - ]; then
    "$@" > /dev/null || return
  else
    "$@" > /dev/null 2> "$log" || return
  fi
  printf '%s' "$cmd" > "$dir/.finished"
}
