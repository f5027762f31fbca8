import Anthropic from "@anthropic-ai/sdk";






const anthropic = new Anthropic({
  apiKey: process.env.ANTHROPIC_API_KEY,
});
















    const response = anthropic.messages.stream({
      model: model,
