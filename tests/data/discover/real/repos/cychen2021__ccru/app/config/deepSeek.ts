export const deepSeekConfig = {
  apiKey: process.env.REACT_APP_DEEPSEEK_API_KEY || '',
  model: process.env.REACT_APP_DEEPSEEK_MODEL || 'deepseek-chat',
};
