(ns clojure-app.core
  "Answers every request with a greeting, the GREETING config var when set, and the Clojure and JVM it runs on."
  (:gen-class)
  (:import (com.sun.net.httpserver HttpExchange HttpHandler HttpServer)
           (java.net InetSocketAddress)
           (java.nio.charset StandardCharsets)))

(defn page []
  (let [greeting (System/getenv "GREETING")
        heap (quot (.maxMemory (Runtime/getRuntime)) (* 1024 1024))]
    (str "Hello from Slipway on Clojure!\n"
         (when (seq greeting) (str greeting "\n"))
         "Clojure " (clojure-version) " on Java " (System/getProperty "java.version")
         ", max heap " heap " MB\n")))

(defn -main [& _]
  (let [port (Integer/parseInt (or (System/getenv "PORT") "5000"))
        server (HttpServer/create (InetSocketAddress. "0.0.0.0" port) 0)]
    (.createContext server "/"
                    (reify HttpHandler
                      (handle [_ exchange]
                        (let [body (.getBytes (page) StandardCharsets/UTF_8)]
                          (.set (.getResponseHeaders exchange) "Content-Type" "text/plain; charset=utf-8")
                          (.sendResponseHeaders exchange 200 (alength body))
                          (with-open [out (.getResponseBody exchange)]
                            (.write out body))))))
    ;; Slipway stops a dyno with SIGTERM: the JVM runs this hook, so the server closes cleanly.
    (.addShutdownHook (Runtime/getRuntime) (Thread. #(.stop server 0)))
    (.start server)
    (println "Listening on port" port)))
