'use strict';
// Lets a child process (crash tests, multi-process contract tests) load the TypeScript sources
// directly, the way jest does, without a build: each .ts file is transpiled on require.
const fs = require('fs');
const ts = require('typescript');

require.extensions['.ts'] = function compile(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      experimentalDecorators: true,
      sourceMap: false,
    },
  });
  module._compile(out.outputText, filename);
};
