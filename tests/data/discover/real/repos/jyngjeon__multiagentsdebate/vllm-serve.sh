nohup vllm serve Qwen/Qwen3-14B \
    --tensor-parallel-size 4 \
    --port 8000 > logs/vllm.log 2>&1 &
