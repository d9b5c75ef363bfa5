/**
 * Log lines must never carry a CPR number or an e-mail address in clear. This is the last line
 * of defence: code should not log personal data in the first place.
 */
const CPR = /\b(\d{6})-?(\d{4})\b/g;
const EMAIL = /\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b/g;

export function maskPersonalData(text: string): string {
  return text.replace(CPR, '$1-XXXX').replace(EMAIL, '$1***@$2');
}
