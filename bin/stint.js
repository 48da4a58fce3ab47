#!/usr/bin/env node
// The `stint` command. The TypeScript sources are built into dist/ by `npm install`.
import('../dist/src/cli/main.js').then(
  (cli) => cli.main(process.argv),
  (err) => {
    console.error(
      `stint: cannot load the built CLI (${err.message}); run npm install (or npm run build) first`,
    );
    process.exit(2);
  },
);
