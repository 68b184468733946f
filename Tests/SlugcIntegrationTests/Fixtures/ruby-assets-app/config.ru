# The compiled assets, served from public/.
run Rack::Files.new(File.join(__dir__, "public"))
