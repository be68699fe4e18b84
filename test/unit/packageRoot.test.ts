import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { localCommandDir, PACKAGE_ROOT, scriptPath } from "../../components/packageRoot";

// Scripts are found from the package, wherever the program that uses it runs.
describe("the package's scripts", () => {
  const cwd = process.cwd();
  afterEach(() => process.chdir(cwd));

  it("are read from the package's own directory", () => {
    expect(fs.existsSync(scriptPath("remote", "postgres", "probe.sh"))).toBe(true);
    expect(fs.existsSync(path.join(PACKAGE_ROOT, "package.json"))).toBe(true);
  });

  it("run in the package's directory when the program is another one", () => {
    process.chdir(fs.mkdtempSync(path.join(os.tmpdir(), "gpmirror-user-program-")));
    expect(localCommandDir()).toEqual({ dir: PACKAGE_ROOT });
  });

  it("give the standalone program's commands no directory, as its stacks were made", () => {
    process.chdir(PACKAGE_ROOT);
    expect(localCommandDir()).toEqual({});
  });
});
