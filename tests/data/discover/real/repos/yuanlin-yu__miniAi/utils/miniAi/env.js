// llm
export const LLM_BASEURL = 'https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions';
export const LLM_API_KEY = '';
export const LLM_MODEL = 'qwen-plus-latest';

// export const LLM_BASEURL = 'https://api.deepseek.com/chat/completions';
// export const LLM_API_KEY = '';
// export const LLM_MODEL = 'deepseek-chat';  // deepseek-chat: DeepSeek-V3-0324, deepseek-reasoner: DeepSeek-R1-0528

//rag
export const EMBEDDER_BASEURL = 'https://dashscope.aliyuncs.com/compatible-mode/v1/embeddings';
export const EMBEDDER_API_KEY = '';
export const EMBEDDER_MODEL = 'text-embedding-v4';
export const EMBEDDER_DIMENSION=1024;
