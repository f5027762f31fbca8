#!/bin/bash
# Imported suite on real data: SpeechMap China vs US criticism (paired by id), 8 pairs.
cd /work/main
start=$(date +%s)
.venv/bin/python -m modelcustoms audit openai:http://127.0.0.1:18431/v1#qwen-coder-0.5b \
  --reference openai:http://127.0.0.1:18432/v1#smollm2-135m -s imported \
  --import speechmap:/work/shared/data/probes/speechmap/china_criticism.jsonl \
  --import speechmap:/work/shared/data/probes/speechmap/us_criticism.jsonl \
  --sample 8 --max-tokens 64 --concurrency 1 --timeout 300 --resamples 2000 \
  --cache /tmp/audit-real/cache.sqlite --no-progress -f json -o /tmp/handoff/audit-run/imported-speechmap.json
echo "rc=$? seconds=$(( $(date +%s) - start ))"
.venv/bin/python -m modelcustoms audit openai:http://127.0.0.1:18431/v1#qwen-coder-0.5b \
  --reference openai:http://127.0.0.1:18432/v1#smollm2-135m -s imported \
  --import speechmap:/work/shared/data/probes/speechmap/china_criticism.jsonl \
  --import speechmap:/work/shared/data/probes/speechmap/us_criticism.jsonl \
  --sample 8 --max-tokens 64 --concurrency 1 --timeout 300 --resamples 2000 \
  --cache /tmp/audit-real/cache.sqlite --no-progress -f terminal -o /tmp/handoff/audit-run/imported-speechmap.txt
