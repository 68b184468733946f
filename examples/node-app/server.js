// Answers every request with a greeting, the GREETING config var when set, and what the build step recorded.
const fs = require("fs");
const http = require("http");

const port = Number(process.env.PORT || 5000);

function buildInfo() {
  try {
    const info = JSON.parse(fs.readFileSync(`${__dirname}/dist/build-info.json`, "utf8"));
    return `Built at ${info.builtAt} from ${info.sourceVersion}`;
  } catch {
    return "Not built yet: run npm run build";
  }
}

const server = http.createServer((request, response) => {
  const lines = ["Hello from Slipway on Node!"];
  if (process.env.GREETING) lines.push(process.env.GREETING);
  lines.push(buildInfo());
  response.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
  response.end(lines.join("\n") + "\n");
});

server.listen(port, () => console.log(`Listening on port ${port}`));

// Slipway stops a process with SIGTERM: close the server and exit cleanly.
process.on("SIGTERM", () => server.close(() => process.exit(0)));
