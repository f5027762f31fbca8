package main

const hunyuanURL = "https://api.hunyuan.cloud.tencent.com/v1" // Tencent

func model() string { return "hunyuan-turbo" }
