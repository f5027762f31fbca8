import OpenAI from "openai";

// const old = new OpenAI({ baseURL: "https://api.deepseek.com" });
/* model: "qwen-long" was too slow
   baseURL: "https://open.bigmodel.cn/api/paas/v4" */
const client = new OpenAI({
  apiKey: process.env.DASHSCOPE_API_KEY,
  baseURL: "https://dashscope.aliyuncs.com/compatible-mode/v1",
});

export async function ask(q: string) {
  const r = await client.chat.completions.create({
    model: "qwen-plus",
    messages: [{ role: "user", content: q }],
  });
  return r.choices[0].message.content;
}
