// The build step (npm run build): records when and from which commit the app was built, for server.js to show.
const fs = require("fs");

const info = {
  builtAt: new Date().toISOString(),
  sourceVersion: process.env.SOURCE_VERSION || "unknown",
};
fs.mkdirSync("dist", { recursive: true });
fs.writeFileSync("dist/build-info.json", JSON.stringify(info, null, 2) + "\n");
console.log(`Wrote dist/build-info.json (commit ${info.sourceVersion})`);
