export { INTEREST_ACT } from './interest-act';
export { checkDunningRule, dunningRules, dunningRuleOn, DEFAULT_DUNNING_RULES, DunningRuleError, type DunningRule } from './dunning-rules';
export { referenceRates, referenceRateOn, REFERENCE_RATES, type ReferenceRate } from './reference-rate';
export { interestOn, MissingReferenceRateError, type InterestCharge } from './interest';
export { nextDunningStep, type Claim, type DunningStep } from './dunning';
