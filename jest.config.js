// Unit tests use Pulumi's mocks; integration tests drive the real engine on the local stack;
// fault tests inject failures into real hosts of the local stack (test/faults/).
const tsJest = { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] };

module.exports = {
  reporters: ["default", "<rootDir>/test/support/summaryReporter.js"],
  projects: [
    {
      displayName: "unit",
      testMatch: ["<rootDir>/test/unit/**/*.test.ts"],
      transform: tsJest,
      testEnvironment: "node",
    },
    {
      displayName: "integration",
      testMatch: ["<rootDir>/test/integration/**/*.test.ts"],
      transform: tsJest,
      testEnvironment: "node",
    },
    {
      displayName: "faults",
      testMatch: ["<rootDir>/test/faults/**/*.test.ts"],
      transform: tsJest,
      testEnvironment: "node",
    },
  ],
};
