const deepseek = new DeepSeek({
    apiKey: process.env.DEEPSEEK_API_KEY, // Ensure this environment variable is set
    baseUrl: "https://api.deepseek.com", // Use the correct base URL
  });
