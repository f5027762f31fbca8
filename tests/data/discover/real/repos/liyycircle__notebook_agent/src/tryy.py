from langchain_community.chat_models.tongyi import ChatTongyi




client = ChatTongyi(api_key=os.getenv('DASHSCOPE_API_KEY'), model = 'qwen-plus')
