var client = new OpenAIClient(new Uri("https://ark.cn-beijing.volces.com/api/v3"));
var options = new ChatOptions { Model = "doubao-pro-32k" };
