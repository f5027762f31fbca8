#!/bin/bash
# Re-render the real run from the response cache (sends no request; same command + --scorer/-f).
cd /work/main
SCORER=${1:-lexicon}
for fmt in json html terminal; do
  ext=$fmt; [ $fmt = terminal ] && ext=txt
  /usr/bin/time -f "%e s" .venv/bin/python -m modelcustoms audit openai:http://127.0.0.1:18431/v1#qwen-coder-0.5b \
    --reference openai:http://127.0.0.1:18432/v1#smollm2-135m \
    --sample 6 --sample-suite security=3 --variants 4 --max-tokens 80 --concurrency 1 --timeout 300 \
    --cache /tmp/audit-real/cache.sqlite --no-progress --scorer $SCORER --policy behavior \
    -f $fmt -o /tmp/handoff/audit-run/audit-$SCORER.$ext
  echo "format $fmt rc=$?"
done
