# The example Ruby app: a Rack app answering every request with a greeting, plus the GREETING config var when set.
run lambda { |_env|
  lines = ["Hello from Slipway! (Ruby #{RUBY_VERSION})"]
  lines << ENV["GREETING"] if ENV["GREETING"]
  [200, { "Content-Type" => "text/plain; charset=utf-8" }, [lines.join("\n") + "\n"]]
}
