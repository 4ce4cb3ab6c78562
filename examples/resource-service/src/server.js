import { startNotesService } from './app.js';
import { loadConfig } from './config.js';

let config;
try {
  config = loadConfig();
} catch (e) {
  console.error(`notes service: ${e.message}`);
  process.exit(1);
}

const service = await startNotesService(config);
console.log(JSON.stringify({ event: 'listening', url: service.url }));

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    void service.stop().then(() => process.exit(0));
  });
}
