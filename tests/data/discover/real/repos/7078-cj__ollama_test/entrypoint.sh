#!/bin/sh
# Start Ollama in background
ollama serve &




# Pull the model if not already present
if ! ollama list | grep -q "qwen2.5:0.5b"; then
    ollama pull qwen2.5:0.5b
fi
