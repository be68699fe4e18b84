// Unit tests use Pulumi's mocks; integration tests drive the real engine on the local stack;
// fault tests inject failures into real hosts of the local stack (test/faults/); the
// acceptance suite runs on a real AWS account (test/acceptance/).
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
      // A real AWS account: skips (loudly) unless credentials, a region and a stack are set.
      displayName: "acceptance",
      testMatch: ["<rootDir>/test/acceptance/**/*.test.ts"],
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
