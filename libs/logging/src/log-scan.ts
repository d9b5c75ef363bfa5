/**
 * Finds what looks like a CPR number in clear in log text (`DDMMYY-SSSS` or ten digits with a
 * valid day and month), for the check over every service's logs after the end-to-end runs. Masked
 * CPRs (`010190-XXXX`), longer digit runs (GSRNs, GLNs, timestamps) and digits inside ids (UUIDs,
 * trace ids) are not findings.
 */
const CPR_LIKE = /(?<![\w-])(\d{2})(\d{2})(\d{2})-?(\d{4})(?![\w-])/g;

export function findCprNumbers(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(CPR_LIKE)) {
    const day = Number(match[1]);
    const month = Number(match[2]);
    // CPR days 1-31 (61-91 for substitute numbers), months 1-12.
    if (month >= 1 && month <= 12 && ((day >= 1 && day <= 31) || (day >= 61 && day <= 91))) found.push(match[0]);
  }
  return found;
}
