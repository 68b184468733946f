(defproject clojure-app "1.0.0"
  :description "A Clojure web app for Slipway: the JDK's own HTTP server, Clojure its only dependency."
  :dependencies [[org.clojure/clojure "1.11.1"]]
  :main clojure-app.core
  :aot [clojure-app.core]
  :uberjar-name "clojure-app-standalone.jar")
