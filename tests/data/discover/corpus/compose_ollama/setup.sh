#!/bin/sh
set -e
ollama pull qwen2.5-coder:1.5b   # autocomplete
# ollama pull mistral
