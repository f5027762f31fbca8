FROM ollama/ollama:0.6.2


RUN ollama serve & sleep 5 && ollama pull qwen2.5-coder:32b

COPY ./entrypoint.qwen2.5-coder.32b.sh /entrypoint.sh

EXPOSE 11434
