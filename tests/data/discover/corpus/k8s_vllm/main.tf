resource "kubernetes_config_map" "llm" {
  data = {
    MODEL_ID = "01-ai/Yi-1.5-9B-Chat"
    // OLD_MODEL = "baichuan-inc/Baichuan2-13B-Chat"
  }
}
