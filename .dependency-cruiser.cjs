// Import rules checked by `npm run check:cycles` (dependency-cruiser with the swc parser: its own
// TypeScript parser needs typescript < 7, and we are on 7). Cycles between files and between
// folders are errors; so is a lib importing an app (dependencies point apps → libs).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Import cycle between files.', from: {}, to: { circular: true } },
    {
      name: 'no-folder-cycles',
      severity: 'error',
      comment: 'Import cycle between folders: two rooms that each need the other are one room.',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    { name: 'libs-never-import-apps', severity: 'error', from: { path: '^libs/' }, to: { path: '^apps/' } },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|\\.test\\.ts$|/test-support/' },
  },
};
