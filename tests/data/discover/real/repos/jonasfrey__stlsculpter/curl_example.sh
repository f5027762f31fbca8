curl https://api.deepseek.com/chat/completions \
  -H "Content-Type: application/json" \

  -d '{
        "model": "deepseek-chat",
        "messages": [


        ],
        "stream": false
      }'
