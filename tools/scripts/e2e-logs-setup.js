// Jest global setup: a fresh folder where every service process started by the
// tests (startServiceProcess) writes its output, for the check in e2e-logs-check.js.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

module.exports = async function setupServiceLogs() {
  process.env.SERVICE_LOG_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'dh-e2e-service-logs-'));
};
