package com.example;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/** Answers every request with a greeting, the GREETING config var when set, and the JVM it runs on. */
public final class App {
    private App() {}

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "5000"));
        HttpServer server = HttpServer.create(new InetSocketAddress("0.0.0.0", port), 0);
        server.createContext("/", exchange -> {
            StringBuilder page = new StringBuilder("Hello from Slipway on Java!\n");
            String greeting = System.getenv("GREETING");
            if (greeting != null && !greeting.isEmpty()) {
                page.append(greeting).append('\n');
            }
            long heap = Runtime.getRuntime().maxMemory() / (1024 * 1024);
            page.append("Java ").append(System.getProperty("java.version"))
                .append(", max heap ").append(heap).append(" MB\n");
            byte[] body = page.toString().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        // Slipway stops a dyno with SIGTERM: the JVM runs this hook, so the server closes cleanly.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> server.stop(0)));
        server.start();
        System.out.println("Listening on port " + port);
    }
}
