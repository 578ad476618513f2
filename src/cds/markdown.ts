/**
 * Card text mixes our words with strings from the EHR's data (ids, UCUM annotations). Escaping
 * every inline piece keeps that data from becoming markup, links or HTML in the clinician's EHR.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\`*_[\]<>|~#!{}]/g, '\\$&')
    .replace(/&/g, '&amp;')
    .replace(/\r?\n/g, ' ');
}

/** A link whose label and URL are both ours (citations), still escaped in case configuration is wrong. */
export function mdLink(label: string, url: string): string {
  return `[${escapeMarkdown(label)}](<${url.replace(/[<>\s]/g, encodeURIComponent)}>)`;
}
