// Throws while loading: the host must list it as failed and keep serving the others.
import { definePlugin } from "@runtime/sdk";

throw new Error("broken on purpose");

export default definePlugin({ name: "broken", version: "1.0.0", subscribes: [] });
