package app;

public class Client {
    // private static final String URL = "https://api.minimax.chat/v1";
    private static final String BASE = "https://qianfan.baidubce.com/v2";
    private static final String MODEL = "ernie-4.0-8k";
}
