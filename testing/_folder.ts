import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** A folder as a `file:` URL ending in `/`; a string is a path, relative to the working directory. */
export function folderUrl(folder: URL | string): URL {
  const url = typeof folder === "string" ? pathToFileURL(resolve(folder)) : new URL(folder);
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

/** The last segment of a folder's URL: a plugin's name. */
export function folderName(folder: URL): string {
  return basename(decodeURIComponent(folder.pathname));
}
