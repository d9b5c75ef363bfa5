export { StaffRatesController } from './staff-rates.controller';
export { ProductsController } from './products.controller';
export { RatesApiModule } from './rates.module';
