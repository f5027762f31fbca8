package deepseek

const (
	// BaseURL is the base url of the all APIs
	baseURL = "https://api.deepseek.com"

	// API endpoints
	chatCompletion = "/chat/completions"
	listModel      = "/models"
)
