// Entry of dist/tools/docs.cjs: writes the man page and bash completion into the folder given (default dist).
import { writeDocs } from "./docs";

writeDocs(process.argv[2] ?? "dist");
