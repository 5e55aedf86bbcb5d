# Sourced by the program tests: make_lfw_folder WORK SRC builds WORK/faces
# (4 validation identities, 2 photos each) and WORK/pairs.txt (1 fold of
# 3 same + 3 different pairs) from the aligned LFW faces in SRC.
VAL_IDS="Aaron_Peirsol Abel_Pacheco Akhmed_Zakayev Aleksander_Kwasniewski"
make_lfw_folder() {
  local work=$1 src=$2 id
  for id in $VAL_IDS; do
    mkdir -p "$work/faces/$id"
    cp "$src/$id/${id}_0001.jpg" "$src/$id/${id}_0002.jpg" "$work/faces/$id/"
  done
  printf '1\t3\nAaron_Peirsol\t1\t2\nAbel_Pacheco\t1\t2\nAkhmed_Zakayev\t1\t2\n%s\n%s\n%s\n' \
    "Aaron_Peirsol	1	Abel_Pacheco	2" "Akhmed_Zakayev	2	Aleksander_Kwasniewski	1" \
    "Abel_Pacheco	1	Aleksander_Kwasniewski	2" > "$work/pairs.txt"
}

# training_ids SRC: the first 8 identities of SRC outside VAL_IDS that have
# a _0001 photo (what tests/train_program.sh trains on).
training_ids() {
  local src=$1 dir id n=0
  for dir in "$src"/*/; do
    id=$(basename "$dir")
    case " $VAL_IDS " in *" $id "*) continue ;; esac
    [ -f "$dir/${id}_0001.jpg" ] || continue
    echo "$id"
    n=$((n + 1)); [ $n -ge 8 ] && break
  done
}

# make_training_folder WORK SRC: make_lfw_folder, plus one photo of each of
# training_ids' identities in WORK/faces (the folder apf-train's tests use).
make_training_folder() {
  local work=$1 src=$2 id
  make_lfw_folder "$work" "$src"
  for id in $(training_ids "$src"); do
    mkdir -p "$work/faces/$id" && cp "$src/$id/${id}_0001.jpg" "$work/faces/$id/"
  done
}
