










public class Moonshot extends OpenAi {

    @Override
    public String code() {
        return "Moonshot";


    @Override
    public String model() {
        return "moonshot-v1-8k";
    }

    @Override
    public String api() {
        return "https://api.moonshot.cn";
    }
