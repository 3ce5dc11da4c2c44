#!/usr/bin/env bash
# Continue the shipped default on a lent GPU machine: two runs side by side on the one GPU (seeds 21
# and 22; the first in bfloat16 autocast, the second in float32, so that a bf16 problem cannot cost
# the whole window), both from humanseg/weights/portrait.onnx with the recipe of run P1 that made the shipped
# tenth version (Lovasz 0.5, teacher labels 1.0, 7 % people-free scenes), on the
# compact data copy that tools/shrink_dataset.py writes to .gpu_data. Checkpoints, logs and the
# config come back through $OUT; average and export them here (docs/training/fast_portrait_prior_gpu.md).
#
#   python tools/shrink_dataset.py ../shared/data .gpu_data --long-side 320 --quality 72 \
#       --label-long-side 256 --drop-clips lp_d10,lp_d11,lp_d12,lp_d13
#   (device) MINUTES=8 bash tools/gpu_finetune.sh
#   (here, a smoke test) PATH=.venv/bin:$PATH MINUTES=0.2 EXTRA='--steps-per-epoch 2 --batch-size 8' bash tools/gpu_finetune.sh
set -u
MINUTES=${MINUTES:-8}
OUT=${OUT:-runs/gpu_out}
mkdir -p "$OUT" runs
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu.txt" 2>&1
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.is_available())" >> "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"
# the shipped file's own architecture (fast-portrait-prior or fast-portrait-prior-wide), unless MODEL says
MODEL=${MODEL:-$(python3 -c "from humanseg.training.onnx_weights import architecture_of as a; print(a('humanseg/weights/portrait.onnx')[0])")}
# and its kwargs, unless MODEL_KWARGS says (a wider network of the same architecture is grown from the file,
# e.g. MODEL_KWARGS='{"hidden_scales": [1, 1, 2]}' for a photo model)
MODEL_KWARGS=${MODEL_KWARGS:-$(python3 -c "import json; from humanseg.training.onnx_weights import architecture_of as a; print(json.dumps(a('humanseg/weights/portrait.onnx')[1]))")}
common=(--model "$MODEL" --model-kwargs "$MODEL_KWARGS" --init humanseg/weights/portrait.onnx --canvas adaptive --size 256x144
        --data .gpu_data --max-minutes "$MINUTES" --epochs 100000 --steps-per-epoch 100 --warmup-epochs 1
        --val-every 5 --checkpoint-minutes 1.5 --workers 6 --batch-size 128 --lr 0.001
        --losses '{"ce": 0.5, "lovasz": 0.5}' --distill-weight 1.0 --synth-prob 0.25 --pseudo-share 0.1
        --clip-share 0.05 --quarter-turn-prob 0.2 --small-person-prob 0.3 --side-cut-prob 0.1 --budget-scale 1,1.56
        --self-prior-prob 0.3 --teacher-gate --empty-prob 0.07 --hold-out-backgrounds 0.5 --hard-share 0
        ${EXTRA:-})   # EXTRA: overrides (a CPU smoke test); the held-out clips are not in .gpu_data (--drop-clips)
limit=$(python3 -c "print(int($MINUTES * 60 + 90))")
OMP_NUM_THREADS=4 PYTHONUNBUFFERED=1 timeout "$limit" python3 -m humanseg train "${common[@]}" --seed 21 \
    --out runs/gpu_s21 > runs/gpu_s21.out 2>&1 &
OMP_NUM_THREADS=4 PYTHONUNBUFFERED=1 timeout "$limit" python3 -m humanseg train "${common[@]}" --seed 22 --no-amp \
    --out runs/gpu_s22 > runs/gpu_s22.out 2>&1 &
wait
for seed in 21 22; do
    tr '\r' '\n' < "runs/gpu_s$seed.out" | grep -v "it/s]\|s/it]" | tail -c 30000 > "$OUT/gpu_s$seed.out"
    cp "runs/gpu_s$seed/last.pt" "$OUT/gpu_s${seed}_last.pt" 2>/dev/null
    cp "runs/gpu_s$seed/log.csv" "$OUT/gpu_s${seed}_log.csv" 2>/dev/null
    grep -o '{"epoch[^}]*}' "runs/gpu_s$seed.out" | tail -3
    tail -2 "$OUT/gpu_s$seed.out"
done
ls -la "$OUT"
