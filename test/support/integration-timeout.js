// Integration tests start real servers and peer binaries: 30 s per test (jest.config.js).
jest.setTimeout(30_000);
