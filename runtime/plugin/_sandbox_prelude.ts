/**
 * The first module a sandbox evaluates, before the plugin's: stdout is the wire to the host, so whatever the plugin
 * prints, even while its modules load, goes to stderr, which the host logs.
 */
console.log = console.info = console.debug = console.error;
